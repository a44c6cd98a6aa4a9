package cli

import (
	"io"
	"strings"
	"unicode/utf8"
)

// textTable renders the prettytable layout cliff uses:
//
//	+-------+-------+
//	| Field | Value |
//	+-------+-------+
//	| id    | 1234  |
//	+-------+-------+
//
// Multi-line cells stretch their row; right-aligned columns are used for
// numbers, as cliff does based on the first row's Python types.
type textTable struct {
	headers []string
	right   []bool
	rows    [][]string
}

func (t *textTable) render(w io.Writer) error {
	widths := make([]int, len(t.headers))
	for i, h := range t.headers {
		widths[i] = utf8.RuneCountInString(h)
	}
	for _, row := range t.rows {
		for i, cell := range row {
			for _, line := range strings.Split(cell, "\n") {
				if n := utf8.RuneCountInString(line); n > widths[i] {
					widths[i] = n
				}
			}
		}
	}
	var b strings.Builder
	rule := func() {
		b.WriteByte('+')
		for _, w := range widths {
			b.WriteString(strings.Repeat("-", w+2))
			b.WriteByte('+')
		}
		b.WriteByte('\n')
	}
	line := func(cells []string) {
		b.WriteByte('|')
		for i, c := range cells {
			pad := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c))
			if t.right != nil && t.right[i] {
				b.WriteString(" " + pad + c + " |")
			} else {
				b.WriteString(" " + c + pad + " |")
			}
		}
		b.WriteByte('\n')
	}
	rule()
	line(t.headers)
	rule()
	for _, row := range t.rows {
		split := make([][]string, len(row))
		height := 1
		for i, cell := range row {
			split[i] = strings.Split(cell, "\n")
			height = max(height, len(split[i]))
		}
		for l := 0; l < height; l++ {
			cells := make([]string, len(row))
			for i := range row {
				if l < len(split[i]) {
					cells[i] = split[i][l]
				}
			}
			line(cells)
		}
	}
	rule()
	_, err := io.WriteString(w, b.String())
	return err
}
