package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"jiannuo/sync/protocol"
)

// The import command: a township device's sync bundle, brought on a USB
// stick, imported into the running county server through the admin API;
// the return file written beside it for the device (docs/sync-file.md).

func init() {
	commands = append(commands,
		command{"import", "FILE [-out RETURN-FILE] [admin flags]",
			"import a device's sync bundle (" + protocol.BundleFileExt + ", from a USB stick) and write its return file (" + protocol.ReturnFileExt + ") for the device", (*cli).importCmd},
	)
}

// returnPath is where the return file of the bundle at path goes by
// default: beside it, with the return file's extension.
func returnPath(path string) string {
	return strings.TrimSuffix(path, protocol.BundleFileExt) + protocol.ReturnFileExt
}

func (c *cli) importCmd(fs *flag.FlagSet, args []string) error {
	a := c.adminFlags(fs)
	out := fs.String("out", "", "where to write the return file (default: beside FILE, ending "+protocol.ReturnFileExt+")")
	pos, err := parse(fs, args, "FILE")
	if err != nil {
		return err
	}
	in, err := os.Open(pos[0])
	if err != nil {
		return err
	}
	defer in.Close()
	info, err := in.Stat()
	if err != nil {
		return err
	}
	if info.Size() > protocol.MaxSyncFileBytes {
		return fmt.Errorf("%s is %d MiB, over the %d MiB a sync file may have: export it again on the device up to an earlier date",
			pos[0], info.Size()>>20, protocol.MaxSyncFileBytes>>20)
	}
	dst := *out
	if dst == "" {
		dst = returnPath(pos[0])
	}
	cl, err := c.client(a)
	if err != nil {
		return err
	}
	// Written beside its place and renamed once whole: a cut transfer
	// leaves no return file to be taken for a good one.
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".jiannuo-return-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	sum, err := cl.ImportSyncFile(cl.ctx, in, info.Size(), tmp)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return cl.explain(err)
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return err
	}
	if a.json {
		return nil // the client printed the summary as the server sent it
	}
	fmt.Fprintf(c.stdout, "已导入同步包 bundle imported: 第 %d 号 number %d, 设备 device %s, 单位 office %s\n", sum.Number, sum.Number, sum.Device, officeLabel(sum.Office))
	var t table
	t.row("变更集 change sets:", fmt.Sprintf("%d, 已回执 receipted %d, 拒收 refused %d", sum.ChangeSets, sum.Receipted, sum.Refused))
	t.row("下发 feed:", fmt.Sprintf("%d 个变更集 change sets, 位置 positions %d → %d", sum.Delivered, sum.From, sum.To))
	t.row("佐证材料 evidence:", fmt.Sprintf("收到 in %d, 下发 out %d", sum.EvidenceIn, sum.EvidenceOut))
	t.write(c.stdout)
	if sum.Refused > 0 {
		fmt.Fprintf(c.stdout, "\n有变更集被拒收（%s），已记入异常记录；请查看 jiannuo-server incidents。\nchange sets were refused (%s) and recorded: see jiannuo-server incidents.\n", sum.RefusedCode, sum.RefusedCode)
	}
	if sum.Skipped {
		fmt.Fprintln(c.stdout, "\n本服务器缺少该终端此前已回执的变更集（从备份恢复过）：终端导入回执包后再导出一次即可补齐。\nthis server lacks change sets it receipted before (restored from a backup): the device's next bundle brings them again.")
	}
	if !sum.FeedComplete || sum.EvidenceLeft > 0 {
		fmt.Fprintln(c.stdout, "\n回执包已达大小上限，其余内容下次同步时带回。 the return file reached its size limit: the rest comes with the next sync.")
	}
	fmt.Fprintf(c.stdout, "\n回执包 return file: %s (%d KB) — 交乡镇终端“导入回执包” give it to the device to import\n", dst, (sum.ReturnBytes+1023)/1024)
	return nil
}
