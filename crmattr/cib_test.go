package crmattr

import "testing"

func TestParseResourceParams(t *testing.T) {
	doc := []byte(`<resources>
  <primitive id="vip" class="ocf" provider="heartbeat" type="IPaddr2">
    <instance_attributes id="vip-ia"><nvpair id="vip-ip" name="ip" value="10.0.0.10"/></instance_attributes>
  </primitive>
  <clone id="cfpgsql-clone">
    <meta_attributes id="m"><nvpair id="m1" name="promotable" value="true"/></meta_attributes>
    <primitive id="cfpgsql" class="ocf" provider="cfengine" type="pgsql">
      <instance_attributes id="cfpgsql-ia">
        <nvpair id="a1" name="pgdata" value="/var/lib/pgsql/data"/>
        <nvpair id="a2" name="rep_mode" value="async"/>
      </instance_attributes>
      <instance_attributes id="cfpgsql-ia2"><nvpair id="a3" name="rep_mode" value="sync"/></instance_attributes>
    </primitive>
  </clone>
</resources>`)
	for _, name := range []string{"cfpgsql", "cfpgsql-clone"} {
		params, id, err := ParseResourceParams(doc, name)
		if err != nil || id != "cfpgsql" || params["pgdata"] != "/var/lib/pgsql/data" || params["rep_mode"] != "async" || len(params) != 2 {
			t.Errorf("%s: %v %q %v", name, params, id, err)
		}
	}
	if _, _, err := ParseResourceParams(doc, "nope"); err == nil {
		t.Error("a missing resource was found")
	}
	cib := []byte(`<cib><configuration><resources><primitive id="p"><instance_attributes id="i"><nvpair id="n" name="pgport" value="5433"/></instance_attributes></primitive></resources></configuration></cib>`)
	if params, id, err := ParseResourceParams(cib, "p"); err != nil || id != "p" || params["pgport"] != "5433" {
		t.Errorf("whole CIB: %v %q %v", params, id, err)
	}
}
