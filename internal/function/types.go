package function

import _ "embed"

// typeDefinitions is the TypeScript description of the function API.
//
//go:embed basalt.d.ts
var typeDefinitions string

// TypeDefinitions returns the TypeScript definitions (a .d.ts file) of the
// basalt API object that function files use.
func TypeDefinitions() string { return typeDefinitions }
