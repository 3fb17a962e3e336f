package auth

// SigningKeysParam is the _params key under which the asymmetric token
// signing keys are stored (see RotateKeys). Copying a database must carry
// it, so that tokens signed before the copy still verify after it.
const SigningKeysParam = paramSigningKeys
