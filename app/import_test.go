package app

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/test"
	"github.com/xuri/excelize/v2"

	"jiannuo/app/vm"
	"jiannuo/domain/calendar"
)

// importFile is the import template with rows filled in from row 3.
func importFile(t *testing.T, u *ui, rows ...[]any) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := vm.WriteImportTemplate(&buf, u.tr); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for i, r := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+3)
		if err := f.SetSheetRow(u.T("import.sheet_data"), cell, &r); err != nil {
			t.Fatal(err)
		}
	}
	buf.Reset()
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestImportFromExcel: the File menu has the import commands; a file with
// an error shows it by row and column and cannot be imported; a good file
// shows its rows, and Import stores them and says how many; an .xls is
// explained.
func TestImportFromExcel(t *testing.T) {
	u := newTestUI(t)
	runInPlace(u)
	var labels []string
	for _, it := range u.win.MainMenu().Items[0].Items {
		labels = append(labels, it.Label)
	}
	for _, want := range []string{"导出导入模板", "从 Excel 导入", "打印公示（PDF）"} {
		found := false
		for _, l := range labels {
			found = found || l == want
		}
		if !found {
			t.Errorf("the File menu lacks %q: %q", want, labels)
		}
	}

	bad := importFile(t, u, []any{"养老", "走访", "内容", "", "王建国", "2026-10-08", "工作日", nil, 5, "是", "否"},
		[]any{"养老", "", "内容", "", "王建国", "2026-10-08", "工作日", nil, 5, "是", "否"})
	u.readImport(io.NopCloser(bytes.NewReader(bad)))
	top := topOverlay(u.win)
	if !showsText(top, "共 2 行，其中 1 行有 1 处错误") || !showsText(top, "第 4 行 B 列（承诺事项名称）") {
		t.Fatalf("the preview shows %q", visibleTexts(top))
	}
	if b := buttonIn(top, "导入"); b == nil || !b.Disabled() {
		t.Fatal("Import is not disabled for a file with errors")
	}
	u.escape()

	good := importFile(t, u, []any{"养老", "高龄老人上门走访", "每月走访一次。", "", "王建国", "2026-10-08", "工作日", nil, 5, "是", "是"},
		[]any{"便民服务", "午间不打烊", "中午有人值守。", "", "张三", nil, "无截止日期", nil, nil, nil, nil})
	u.readImport(io.NopCloser(bytes.NewReader(good)))
	top = topOverlay(u.win)
	if !showsText(top, "共 2 项承诺事项可以导入，其中 1 项将立即发布") || !showsText(top, "第 3 行 · 养老 · 高龄老人上门走访") {
		t.Fatalf("the preview shows %q", visibleTexts(top))
	}
	test.Tap(buttonIn(top, "导入"))
	if top := topOverlay(u.win); !showsText(top, "已导入 2 项承诺事项") {
		t.Fatalf("after import: %q", visibleTexts(top))
	}
	u.escape()
	cs, _ := u.st.AllCommitments()
	if len(cs) != 2 {
		t.Fatalf("%d commitments stored", len(cs))
	}
	if u.main.list.vm.Len() != 2 {
		t.Errorf("the list shows %d", u.main.list.vm.Len())
	}

	xls := append([]byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}, make([]byte, 512)...)
	u.readImport(io.NopCloser(bytes.NewReader(xls)))
	if top := topOverlay(u.win); !showsText(top, "旧版 Excel 文件（.xls）") {
		t.Fatalf("an .xls shows %q", visibleTexts(top))
	}
	u.escape()
	if cs, _ := u.st.AllCommitments(); len(cs) != 2 {
		t.Fatalf("%d commitments after the refused file", len(cs))
	}
}

// TestImportTemplateAndNoticeFiles: the template and the notice are
// written where the user chose, and the done dialog says where.
func TestImportTemplateAndNoticeFiles(t *testing.T) {
	u := newTestUI(t)
	runInPlace(u)
	publishOne(t, u, "公示的承诺", calendar.NewDate(2026, 12, 31))
	dir := t.TempDir()

	path := filepath.Join(dir, "公开承诺事项公示.pdf")
	w, err := storage.Writer(storage.NewFileURI(path))
	if err != nil {
		t.Fatal(err)
	}
	u.writeNotice(w, "https://xy.example.gov.cn/gongshi")
	data, err := os.ReadFile(path)
	if err != nil || !bytes.HasPrefix(data, []byte("%PDF-")) {
		t.Fatalf("the notice: %v, %d bytes", err, len(data))
	}
	if top := topOverlay(u.win); !showsText(top, "公示.pdf") || buttonIn(top, u.T("app.export.open_folder")) == nil {
		t.Fatalf("the done dialog shows %q", visibleTexts(top))
	}
	u.escape()
}
