package schema

import (
	"hash/crc32"
	"strconv"
)

// Names of the system collections that hold sign-in state.
const (
	OTPsName          = "_otps"
	MFAsName          = "_mfas"
	AuthOriginsName   = "_authOrigins"
	ExternalAuthsName = "_externalAuths"
)

// OTPsID, MFAsID and AuthOriginsID are the ids of those collections
// (derived as for any collection, so they match PocketBase's).
var (
	OTPsID        = DefaultCollectionID(TypeBase, OTPsName)
	MFAsID        = DefaultCollectionID(TypeBase, MFAsName)
	AuthOriginsID = DefaultCollectionID(TypeBase, AuthOriginsName)
	// ExternalAuthsID is the id of _externalAuths.
	ExternalAuthsID = DefaultCollectionID(TypeBase, ExternalAuthsName)
)

// fieldID derives a field id from its type and name, as the built-in
// fields' ids are.
func fieldID(typ, name string) string {
	return typ + strconv.FormatUint(uint64(crc32.ChecksumIEEE([]byte(name))), 10)
}

func systemField(typ, name string, required, hidden bool) *Field {
	return &Field{ID: fieldID(typ, name), Name: name, Type: typ, System: true, Required: required, Hidden: hidden}
}

// ownerRule lets an auth record see its own rows of _otps and _mfas.
const ownerRule = "@request.auth.id != '' && recordRef = @request.auth.id && collectionRef = @request.auth.collectionId"

// OTPs returns the definition of _otps: one row per one-time password
// requested, holding its bcrypt hash (cost 8) and the address it was sent
// to. Rows are created and deleted by the auth service only.
func OTPs() *Collection {
	c := NewCollection(TypeBase, OTPsName, nil)
	c.ID, c.System = OTPsID, true
	c.ListRule, c.ViewRule = Rule(ownerRule), Rule(ownerRule)
	password := systemField(TypePassword, "password", true, true)
	password.Cost = OTPCost
	c.Fields = append(c.Fields,
		systemField(TypeText, "collectionRef", true, false),
		systemField(TypeText, "recordRef", true, false),
		password,
		systemField(TypeText, "sentTo", false, true),
	)
	c.Fields = append(c.Fields, AutodateFields(true)...)
	c.Indexes = []string{"CREATE INDEX `idx_otps_collectionRef_recordRef` ON `_otps` (`collectionRef`, `recordRef`)"}
	return c
}

// AuthOrigins returns the definition of _authOrigins: one row per device
// (a fingerprint of client IP and user agent) an auth record signed in
// from. Owners list, view and delete their rows; only the auth service and
// superusers write them.
func AuthOrigins() *Collection {
	c := NewCollection(TypeBase, AuthOriginsName, nil)
	c.ID, c.System = AuthOriginsID, true
	c.ListRule, c.ViewRule, c.DeleteRule = Rule(ownerRule), Rule(ownerRule), Rule(ownerRule)
	c.Fields = append(c.Fields,
		systemField(TypeText, "collectionRef", true, false),
		systemField(TypeText, "recordRef", true, false),
		systemField(TypeText, "fingerprint", true, false),
	)
	c.Fields = append(c.Fields, AutodateFields(true)...)
	c.Indexes = []string{"CREATE UNIQUE INDEX `idx_authOrigins_unique_pairs` ON `_authOrigins` (`collectionRef`, `recordRef`, `fingerprint`)"}
	return c
}

// OTPCost is the bcrypt cost of one-time passwords: they live minutes and
// their attempts are limited, so a low cost is enough.
const OTPCost = 8

// MFAs returns the definition of _mfas: one row per multi-factor sign-in
// in progress, naming the method that already succeeded.
func MFAs() *Collection {
	c := NewCollection(TypeBase, MFAsName, nil)
	c.ID, c.System = MFAsID, true
	c.ListRule, c.ViewRule = Rule(ownerRule), Rule(ownerRule)
	c.Fields = append(c.Fields,
		systemField(TypeText, "collectionRef", true, false),
		systemField(TypeText, "recordRef", true, false),
		systemField(TypeText, "method", true, false),
	)
	c.Fields = append(c.Fields, AutodateFields(true)...)
	c.Indexes = []string{"CREATE INDEX `idx_mfas_collectionRef_recordRef` ON `_mfas` (`collectionRef`, `recordRef`)"}
	return c
}

// ExternalAuths returns the definition of _externalAuths: one row per
// OAuth2 account (provider and the provider's user id) linked to an auth
// record. Owners list, view and delete (unlink) their rows; only the auth
// service and superusers create or change them.
func ExternalAuths() *Collection {
	c := NewCollection(TypeBase, ExternalAuthsName, nil)
	c.ID, c.System = ExternalAuthsID, true
	c.ListRule, c.ViewRule, c.DeleteRule = Rule(ownerRule), Rule(ownerRule), Rule(ownerRule)
	c.Fields = append(c.Fields,
		systemField(TypeText, "collectionRef", true, false),
		systemField(TypeText, "recordRef", true, false),
		systemField(TypeText, "provider", true, false),
		systemField(TypeText, "providerId", true, false),
	)
	c.Fields = append(c.Fields, AutodateFields(true)...)
	c.Indexes = []string{
		"CREATE UNIQUE INDEX `idx_externalAuths_record_provider` ON `_externalAuths` (`collectionRef`, `recordRef`, `provider`)",
		"CREATE UNIQUE INDEX `idx_externalAuths_collection_provider` ON `_externalAuths` (`collectionRef`, `provider`, `providerId`)",
	}
	return c
}
