// Command yaml-oracle is the offline reference for src/yaml.ts: it converts JSON
// to YAML exactly like the Go Elemental agent does (json.Unmarshal into `any`,
// so every number is a float64, then gopkg.in/yaml.v3 yaml.Marshal with its
// defaults). It is not part of the build; it only (re)generates test fixtures
// and drives the randomized differential check (tools/yaml-oracle/fuzz.mjs).
//
// Build offline against the Debian package golang-gopkg-yaml.v3-dev:
//
//	GOPATH=/usr/share/gocode GO111MODULE=off go build -o /tmp/yaml-oracle ./tools/yaml-oracle
//
// Usage:
//
//	yaml-oracle gen DIR   for every DIR/<name>.json write DIR/<name>.yaml
//	yaml-oracle stream    read one JSON document per stdin line and write one
//	                      JSON line per document: {"yaml":"..."} or {"error":"..."}
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// convert mirrors plugin.UnmarshalRawJSONToYaml of the Go agent.
func convert(input []byte) ([]byte, error) {
	if len(input) == 0 {
		return []byte{}, nil
	}
	var v any
	if err := json.Unmarshal(input, &v); err != nil {
		return nil, err
	}
	return yaml.Marshal(v)
}

func gen(dir string) error {
	inputs, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return err
	}
	sort.Strings(inputs)
	for _, in := range inputs {
		data, err := os.ReadFile(in)
		if err != nil {
			return err
		}
		out, err := convert(data)
		if err != nil {
			return fmt.Errorf("%s: %w", in, err)
		}
		if err := os.WriteFile(strings.TrimSuffix(in, ".json")+".yaml", out, 0o644); err != nil {
			return err
		}
	}
	fmt.Fprintf(os.Stderr, "generated %d fixtures in %s\n", len(inputs), dir)
	return nil
}

func stream() error {
	in := bufio.NewReaderSize(os.Stdin, 1<<20)
	out := bufio.NewWriterSize(os.Stdout, 1<<20)
	defer out.Flush()
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	for {
		line, err := in.ReadBytes('\n')
		if len(line) > 0 {
			line = []byte(strings.TrimSuffix(string(line), "\n"))
			res := map[string]string{}
			if y, cerr := convert(line); cerr != nil {
				res["error"] = cerr.Error()
			} else {
				res["yaml"] = string(y)
			}
			if eerr := enc.Encode(res); eerr != nil {
				return eerr
			}
		}
		if err != nil {
			return nil // EOF
		}
	}
}

func main() {
	var err error
	switch {
	case len(os.Args) == 3 && os.Args[1] == "gen":
		err = gen(os.Args[2])
	case len(os.Args) == 2 && os.Args[1] == "stream":
		err = stream()
	default:
		err = fmt.Errorf("usage: yaml-oracle gen DIR | yaml-oracle stream")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
