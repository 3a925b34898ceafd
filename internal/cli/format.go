package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/template"
	"time"

	"github.com/spf13/cobra"

	capi "github.com/go-cluster-api/clusterapi"
)

// outputFlags choose how a list of jobs is printed: -o table (default),
// wide, json, custom-columns=SPEC, or --format TEMPLATE.
type outputFlags struct {
	output string
	format string
}

func (o *outputFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVarP(&o.output, "output", "o", "table", "table, wide (hosts and full times), json (as --json), or custom-columns=HEADER:.json.path,...")
	f.StringVar(&o.format, "format", "", `Go template run on each job's JSON record, e.g. '{{.job_id}} {{.status}}'`)
	cmd.RegisterFlagCompletionFunc("output", func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return []cobra.Completion{"table", "wide", "json", "custom-columns="}, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
	})
}

// recordPrinter prints a list of records.
type recordPrinter func(recs []capi.Record) error

// printer checks the flags and returns the printer they ask for. It runs
// before any work, so that a typo in a template fails at once.
func (o *outputFlags) printer(g *globals) (recordPrinter, error) {
	out := strings.TrimSpace(o.output)
	if o.format != "" {
		if out != "table" || g.json {
			return nil, usageErr("--format replaces -o and --json: give only one of them")
		}
		tpl, err := template.New("format").Funcs(template.FuncMap{"json": toJSON}).Parse(o.format)
		if err != nil {
			return nil, usageErr("--format: %v", err)
		}
		return func(recs []capi.Record) error { return printTemplate(g.io.Out, tpl, recs) }, nil
	}
	if g.json && out != "table" && out != "json" {
		return nil, usageErr("--json and -o %s ask for different outputs: give one of them", out)
	}
	if g.json || out == "json" {
		g.json = true
		return func(recs []capi.Record) error { return writeJSON(g.io.Out, recordList(recs)) }, nil
	}
	var cols []column
	fit := false
	switch {
	case out == "table" || out == "":
		cols, fit = defaultColumns, true
	case out == "wide":
		cols = wideColumns
	case strings.HasPrefix(out, "custom-columns="):
		var err error
		if cols, err = customColumns(strings.TrimPrefix(out, "custom-columns=")); err != nil {
			return nil, err
		}
	default:
		return nil, usageErr("-o %q: use table, wide, json or custom-columns=HEADER:.path,...", o.output)
	}
	return func(recs []capi.Record) error {
		if len(recs) == 0 {
			g.line().write(g.io.ErrOut, "no jobs\n")
			return nil
		}
		return g.printTable(cols, recs, fit)
	}, nil
}

// printTable prints recs in columns; with fit, on a terminal, narrow
// enough for it. Only the default table is fitted: -o wide and custom
// columns were asked for whole (less -S scrolls them sideways).
func (g *globals) printTable(cols []column, recs []capi.Record, fit bool) error {
	c := g.console()
	defer c.close()
	t := &table{cols: cols, color: g.colorOn(c), now: time.Now()}
	if c != nil && fit {
		t.max = c.cols
	}
	header, lines := t.render(recs)
	var b strings.Builder
	b.WriteString(header + "\n")
	for _, l := range lines {
		b.WriteString(l + "\n")
	}
	_, err := io.WriteString(g.io.Out, b.String())
	return err
}

// customColumns parses "HEADER:.json.path,..." (kubectl's form); a bare
// column name (ID, AGE, HOST, ...) stands for capi's own column.
func customColumns(spec string) ([]column, error) {
	if strings.TrimSpace(spec) == "" {
		return nil, usageErr("-o custom-columns=: give HEADER:.path pairs, e.g. custom-columns=ID:.job_id,CPUS:.resources.cpus")
	}
	var cols []column
	for _, part := range strings.Split(spec, ",") {
		header, path, ok := strings.Cut(strings.TrimSpace(part), ":")
		if !ok {
			c, found := namedColumn(header)
			if !found {
				return nil, usageErr("-o custom-columns: %q is not a column (%s) nor HEADER:.path", header, columnNames())
			}
			cols = append(cols, c)
			continue
		}
		keys := strings.Split(strings.TrimPrefix(strings.TrimSpace(path), "."), ".")
		if header == "" || len(keys) == 0 || keys[0] == "" {
			return nil, usageErr("-o custom-columns: %q: write HEADER:.path, e.g. CPUS:.resources.cpus", part)
		}
		cols = append(cols, column{header: header, cell: func(r capi.Record, _ time.Time) string { return jsonCell(r, keys) }})
	}
	return cols, nil
}

func namedColumn(name string) (column, bool) {
	for _, c := range namedColumns {
		if strings.EqualFold(c.header, name) {
			return c, true
		}
	}
	return column{}, false
}

func columnNames() string {
	names := make([]string, len(namedColumns))
	for i, c := range namedColumns {
		names[i] = c.header
	}
	return strings.Join(names, ", ")
}

// jsonCell follows keys into the record's JSON form: a custom column shows
// what --json shows, under the same names.
func jsonCell(r capi.Record, keys []string) string {
	var v any = jsonObject(r)
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return "-"
		}
		if v, ok = m[k]; !ok {
			return "-"
		}
	}
	switch v := v.(type) {
	case nil:
		return "-"
	case string:
		return orDash(v)
	case json.Number:
		return v.String()
	case bool:
		return fmt.Sprint(v)
	}
	return toJSON(v)
}

// jsonObject is the record as --json prints it, decoded into maps, with
// numbers kept as written.
func jsonObject(r capi.Record) map[string]any {
	data, err := json.Marshal(r)
	if err != nil {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var m map[string]any
	if dec.Decode(&m) != nil {
		return nil
	}
	return m
}

func toJSON(v any) string {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("<%v>", err)
	}
	return string(data)
}

// printTemplate runs tpl on each record's JSON object, one per line.
func printTemplate(w io.Writer, tpl *template.Template, recs []capi.Record) error {
	var b bytes.Buffer
	for _, r := range recs {
		start := b.Len()
		if err := tpl.Execute(&b, jsonObject(r)); err != nil {
			return usageErr("--format: job %s: %v", r.ID, err)
		}
		if b.Len() == start || b.Bytes()[b.Len()-1] != '\n' {
			b.WriteByte('\n')
		}
	}
	_, err := w.Write(b.Bytes())
	return err
}
