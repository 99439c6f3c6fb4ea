//go:build tools

// The two programs this module builds; the build tag keeps this file out of any build (`go mod tidy`
// reads it to keep their dependencies in go.mod and go.sum).
package tools

import (
	_ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
	_ "github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3"
)
