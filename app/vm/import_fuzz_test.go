package vm

import (
	"bytes"
	"testing"

	"jiannuo/domain"
)

// FuzzReadImport: whatever file a clerk picks, reading it for import
// either refuses it (and gives no preview), or gives a preview whose every row and issue points inside the
// sheet; it never panics or hangs. Seeds: the template, a filled one, the
// bad files of TestImportBadFiles, and testdata/fuzz/FuzzReadImport.
func FuzzReadImport(f *testing.F) {
	var tpl bytes.Buffer
	if err := WriteImportTemplate(&tpl, trZh); err != nil {
		f.Fatal(err)
	}
	f.Add(tpl.Bytes())
	for _, bf := range badFiles(f) {
		f.Add(bf.data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := readImportBytes(data, domain.RoleLeader)
		if err != nil {
			if p != nil {
				t.Fatalf("a refused file with a preview: %v", err)
			}
			return
		}
		if len(p.Rows) > MaxImportRows {
			t.Fatalf("%d rows read, the limit is %d", len(p.Rows), MaxImportRows)
		}
		for _, is := range p.Issues {
			if is.Row < 1 {
				t.Fatalf("an issue outside the sheet: %+v", is)
			}
		}
	})
}
