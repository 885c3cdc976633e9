package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/phonecheck/phonecheck/checker"
	"github.com/phonecheck/phonecheck/hashset"
)

var cmdInfo = &Command{
	Name:      "info",
	UsageLine: "info [--json] INDEX",
	Short:     "print what an index holds",
	Long: `
Info prints an index's header: its datasets (name, date, source, rows,
numbers, per-country counts), the hash scheme, the library versions used
to normalize and build, and its sections and sizes. It reads only the
header: use 'phonecheck verify' to check the data.
`,
}

var infoFlags struct{ json bool }

func init() {
	cmdInfo.SetFlags = func(fs *flag.FlagSet) {
		fs.BoolVar(&infoFlags.json, "json", false, "print the header as JSON")
	}
	cmdInfo.Run = runInfo
}

func runInfo(ctx context.Context, cmd *Command, args []string) error {
	if len(args) != 1 {
		return usagef("want one INDEX, got %d arguments", len(args))
	}
	r, err := hashset.Open(args[0])
	if err != nil {
		return fmt.Errorf("%s: %w", args[0], err)
	}
	defer r.Close()
	m := redactMeta(r.Meta())
	if infoFlags.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			*hashset.Meta
			Size     int64                 `json:"size"`
			Sections []hashset.SectionInfo `json:"sections"`
		}{m, r.Size(), r.Sections()})
	}
	w := stdout
	fmt.Fprintf(w, "index      %s\n", args[0])
	fmt.Fprintf(w, "numbers    %d\n", r.Len())
	fmt.Fprintf(w, "size       %s (%.2f bytes/number)\n", humanBytes(r.Size()), float64(r.Size())/float64(max(r.Len(), 1)))
	fmt.Fprintf(w, "format     %d\n", m.FormatVersion)
	fmt.Fprintf(w, "hash       %s\n", m.KeyScheme)
	if m.Created != "" {
		fmt.Fprintf(w, "created    %s\n", m.Created)
	}
	var keys []string
	for k := range m.Info {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "info       %s: %s\n", k, m.Info[k])
	}
	fmt.Fprintf(w, "\ndatasets:\n")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "  name\tdate\tmode\trows\tinvalid\tretried\tnumbers\tsource\n")
	for _, d := range m.Datasets {
		// An index built before the modes existed records neither: its
		// datasets were read in the default mode, retries uncounted.
		retried := "?"
		if v, ok := d.Stats[checker.DatasetStatRetried]; ok {
			retried = fmt.Sprint(v)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%d\t%d\t%s\t%d\t%s\n", d.Name, d.Date, modeName(d.Stats[checker.DatasetStatStrict] == 1),
			d.Stats["rows"], d.Stats["invalid"], retried, d.Keys, d.Source)
	}
	tw.Flush()
	for _, d := range m.Datasets {
		if len(d.Groups) > 0 {
			fmt.Fprintf(w, "  %s per country: %s\n", d.Name, countsLine(d.Groups))
		}
	}
	if len(m.Groups) > 0 {
		fmt.Fprintf(w, "\nnumbers per country: %s\n", countsLine(m.Groups))
	}
	fmt.Fprintf(w, "\nsections:\n")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, s := range r.Sections() {
		fmt.Fprintf(tw, "  %s\t%d\t%s\n", s.Name, s.Length, humanBytes(int64(s.Length)))
	}
	tw.Flush()
	return nil
}

func countsLine(m map[string]int64) string {
	type kv struct {
		k string
		v int64
	}
	var cs []kv
	for k, v := range m {
		cs = append(cs, kv{k, v})
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i].v > cs[j].v || cs[i].v == cs[j].v && cs[i].k < cs[j].k })
	var parts []string
	for _, c := range cs {
		parts = append(parts, fmt.Sprintf("%s %d", c.k, c.v))
	}
	return strings.Join(parts, ", ")
}

// redactMeta hides the header entries that must not be printed: a private
// index's padding seed would let whoever reads it tell its decoys from
// real entries.
func redactMeta(m *hashset.Meta) *hashset.Meta {
	if _, ok := m.Info[checker.InfoPadSeed]; !ok {
		return m
	}
	c := *m
	c.Info = maps.Clone(m.Info)
	c.Info[checker.InfoPadSeed] = "(set, not shown: it tells decoys from real entries)"
	return &c
}
