package temporal_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/zentrix/webhooks/temporal"
)

func TestDevServerFlagsRegisterEveryAttributeAsKeyword(t *testing.T) {
	flags := temporal.DevServerFlags()
	want := []string{"CallStatus", "AgentId", "Platform", "SubscriptionStatus", "PlanId", "CustomerId", "AccessState", "PaymentResolution"}
	if len(flags) != 2*len(want)+2 || !slices.Contains(flags, temporal.EagerActivities) {
		t.Fatalf("flags = %v", flags)
	}
	for _, name := range want {
		if i := slices.Index(flags, name+"=Keyword"); i < 1 || flags[i-1] != "--search-attribute" {
			t.Errorf("%s is not registered as a Keyword: %v", name, flags)
		}
	}
	if strings.Contains(strings.Join(flags, " "), "INDEXED_VALUE_TYPE") {
		t.Errorf("flags use the enum's long name: %v", flags)
	}
}

func TestSecretNeverPrints(t *testing.T) {
	s := temporal.Secret("postgres://u:hunter2@db/x")
	for _, out := range []string{s.String(), s.LogValue().String()} {
		if strings.Contains(out, "hunter2") {
			t.Errorf("secret printed as %q", out)
		}
	}
}
