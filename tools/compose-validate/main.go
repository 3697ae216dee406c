// compose-validate loads a Compose file with compose-go, the loader Docker Compose v2 uses:
// schema validation against the current Compose Specification, interpolation and the semantic
// checks of `docker compose config`. It prints the normalised project as JSON on success.
// Used by test/unit/deploy.test.ts, since no container engine here can run Compose itself.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/compose-spec/compose-go/v2/cli"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: compose-validate FILE [PROFILE...]")
		os.Exit(2)
	}
	opts, err := cli.NewProjectOptions(
		[]string{os.Args[1]},
		cli.WithOsEnv,
		cli.WithDotEnv,
		cli.WithProfiles(os.Args[2:]),
	)
	if err == nil {
		var project interface{}
		project, err = opts.LoadProject(context.Background())
		if err == nil {
			out, _ := json.MarshalIndent(project, "", "  ")
			fmt.Println(string(out))
			return
		}
	}
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}
