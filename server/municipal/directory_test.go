package municipal_test

import (
	"testing"

	"jiannuo/domain"
)

// TestMunicipalKnowsWhoDidWhat: a township leader's account changes travel
// up with the records, so the municipal replica names the person behind
// each author login as the county's does.
func TestMunicipalKnowsWhoDidWhat(t *testing.T) {
	c := newCounty(t, luanchuan)
	m := newMunicipal(t, "市信用平台", c)
	m.start(c.serfAddr)
	d := c.device(township(luanchuan, 0), domain.RoleLeader)
	if err := d.se.AddAccount("wangfang", "王芳", domain.RoleStaff, devPass+"-王芳"); err != nil {
		t.Fatal(err)
	}
	clerk, err := d.st.SignIn("wangfang", devPass+"-王芳")
	if err != nil {
		t.Fatal(err)
	}
	d.se = clerk
	ref := d.create("王芳起草的承诺", domain.WorkdaysDeadline(5))
	d.sync()
	m.waitConverged(c)
	cm, err := m.n.Store().Commitment(ref)
	if err != nil {
		t.Fatal(err)
	}
	people, err := m.n.Store().People()
	if err != nil {
		t.Fatal(err)
	}
	if got := people.Who(cm.CreatedDevice, cm.CreatedBy); got != "王芳（wangfang）" {
		t.Fatalf("the author on the municipal replica: %q", got)
	}
	if dir, err := m.n.Store().Directory(township(luanchuan, 0)); err != nil || len(dir) != 2 {
		t.Fatalf("the township's directory on the municipal replica: %+v %v", dir, err)
	}
}
