package render

import (
	"fmt"
	"strings"
	"text/template"
	"text/template/parse"
	"unicode/utf8"
)

// templateError carries text/template's error without its "template: "
// prefix, so messages read "prompt.tmpl:3: ...", while keeping the original
// for errors.Is/As.
type templateError struct {
	msg string
	err error
}

func (e *templateError) Error() string { return e.msg }
func (e *templateError) Unwrap() error { return e.err }

func trimTemplateErr(err error) error {
	return &templateError{msg: strings.TrimPrefix(err.Error(), "template: "), err: err}
}

func templateName(name string) string {
	if name == "" {
		return "template"
	}
	return name
}

// Check parses the template and reports references to columns that are not
// in columns. Only references that certainly mean a column are checked:
// .Name (and .Name.more) where dot is the row, $.Name anywhere, and
// index . "Name" / index $ "Name"; fields under range/with (where dot
// changes) are left to execution, which fails per row with missingkey=error.
func Check(tmpl string, name string, columns []string) error {
	_, err := parseTemplate(tmpl, name, columns, true)
	return err
}

func parseTemplate(tmpl, name string, columns []string, checkColumns bool) (*template.Template, error) {
	name = templateName(name)
	if strings.TrimSpace(tmpl) == "" {
		// An empty template would send the same empty prompt for every row.
		return nil, fmt.Errorf("%s: template is empty", name)
	}
	if !utf8.ValidString(tmpl) {
		return nil, fmt.Errorf("%s: template is not valid UTF-8", name)
	}
	t, err := template.New(name).Option("missingkey=error").Parse(tmpl)
	if err != nil {
		return nil, trimTemplateErr(err)
	}
	if !checkColumns {
		return t, nil
	}
	known := make(map[string]bool, len(columns))
	for _, c := range columns {
		known[c] = true
	}
	w := &refWalker{t: t, known: known, visited: map[string]bool{}}
	w.tree(t.Tree)
	if len(w.unknown) > 0 {
		have := "none"
		if len(columns) > 0 {
			have = strings.Join(columns, ", ")
		}
		what := "column"
		if len(w.unknown) > 1 {
			what = "columns"
		}
		return nil, fmt.Errorf("%s: unknown %s %s (input columns: %s)",
			name, what, strings.Join(w.unknown, ", "), have)
	}
	return t, nil
}

// refWalker collects references to unknown columns. Trees it walks always
// have the row as "$": the main template, and templates invoked with the row
// as their data.
type refWalker struct {
	t       *template.Template
	known   map[string]bool
	visited map[string]bool // defined templates already walked, against recursion
	seen    map[string]bool // unknown columns already reported
	unknown []string        // `"col" at name:line:col`, in order of appearance
	cur     *parse.Tree
}

func (w *refWalker) tree(tr *parse.Tree) {
	if tr == nil || tr.Root == nil {
		return
	}
	prev := w.cur
	w.cur = tr
	w.list(tr.Root, true)
	w.cur = prev
}

func (w *refWalker) list(l *parse.ListNode, dotIsRow bool) {
	if l == nil {
		return
	}
	for _, n := range l.Nodes {
		w.node(n, dotIsRow)
	}
}

func (w *refWalker) node(n parse.Node, dotIsRow bool) {
	switch n := n.(type) {
	case *parse.ActionNode:
		w.pipe(n.Pipe, dotIsRow)
	case *parse.IfNode:
		w.pipe(n.Pipe, dotIsRow)
		w.list(n.List, dotIsRow)
		w.list(n.ElseList, dotIsRow)
	case *parse.RangeNode:
		w.pipe(n.Pipe, dotIsRow)
		w.list(n.List, false) // dot is each element
		w.list(n.ElseList, dotIsRow)
	case *parse.WithNode:
		w.pipe(n.Pipe, dotIsRow)
		w.list(n.List, false) // dot is the pipeline's value
		w.list(n.ElseList, dotIsRow)
	case *parse.TemplateNode:
		w.pipe(n.Pipe, dotIsRow)
		if w.passesRow(n.Pipe, dotIsRow) && !w.visited[n.Name] {
			w.visited[n.Name] = true
			if sub := w.t.Lookup(n.Name); sub != nil {
				w.tree(sub.Tree)
			}
		}
	case *parse.ListNode:
		w.list(n, dotIsRow)
	}
}

// passesRow reports whether {{template "x" PIPE}} hands the row itself to x.
func (w *refWalker) passesRow(p *parse.PipeNode, dotIsRow bool) bool {
	return p != nil && w.isRow(p, dotIsRow)
}

// isRow reports whether n is certainly the row: dot at row scope, "$", or
// either in parentheses.
func (w *refWalker) isRow(n parse.Node, dotIsRow bool) bool {
	switch n := n.(type) {
	case *parse.DotNode:
		return dotIsRow
	case *parse.VariableNode:
		return len(n.Ident) == 1 && n.Ident[0] == "$"
	case *parse.PipeNode:
		return len(n.Decl) == 0 && len(n.Cmds) == 1 && len(n.Cmds[0].Args) == 1 && w.isRow(n.Cmds[0].Args[0], dotIsRow)
	}
	return false
}

func (w *refWalker) pipe(p *parse.PipeNode, dotIsRow bool) {
	if p == nil {
		return
	}
	for _, c := range p.Cmds {
		// index ROW "col" ...: the first key is a column.
		if len(c.Args) >= 3 {
			if id, ok := c.Args[0].(*parse.IdentifierNode); ok && id.Ident == "index" && w.isRow(c.Args[1], dotIsRow) {
				if s, ok := c.Args[2].(*parse.StringNode); ok {
					w.ref(s.Text, s)
				}
			}
		}
		for _, a := range c.Args {
			w.arg(a, dotIsRow)
		}
	}
}

func (w *refWalker) arg(n parse.Node, dotIsRow bool) {
	switch n := n.(type) {
	case *parse.FieldNode:
		if dotIsRow {
			w.ref(n.Ident[0], n)
		}
	case *parse.VariableNode:
		if len(n.Ident) > 1 && n.Ident[0] == "$" {
			w.ref(n.Ident[1], n)
		}
	case *parse.ChainNode:
		if w.isRow(n.Node, dotIsRow) && len(n.Field) > 0 {
			w.ref(n.Field[0], n)
		}
		w.arg(n.Node, dotIsRow)
	case *parse.PipeNode:
		w.pipe(n, dotIsRow)
	}
}

func (w *refWalker) ref(col string, n parse.Node) {
	if w.known[col] {
		return
	}
	if w.seen == nil {
		w.seen = map[string]bool{}
	}
	if w.seen[col] {
		return
	}
	w.seen[col] = true
	loc, _ := w.cur.ErrorContext(n)
	w.unknown = append(w.unknown, fmt.Sprintf("%q at %s", col, loc))
}
