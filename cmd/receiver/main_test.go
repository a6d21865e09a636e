package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sethvargo/go-envconfig"

	"github.com/zentrix/webhooks/internal/service"
)

func TestConfig(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		env  map[string]string
		err  string // "" for a valid configuration
	}{
		{"secrets missing", map[string]string{}, "configuration: CALL_WEBHOOK_SECRET is required; RAZORPAY_WEBHOOK_SECRET is required"},
		{"secret only commas", map[string]string{"CALL_WEBHOOK_SECRET": " , ", "RAZORPAY_WEBHOOK_SECRET": "r"}, "CALL_WEBHOOK_SECRET is required"},
		{"bad body limit", map[string]string{"CALL_WEBHOOK_SECRET": "c", "RAZORPAY_WEBHOOK_SECRET": "r", "WEBHOOK_BODY_LIMIT": "lots"}, "BodyLimit"},
		{"hand-off past the senders' deadline", map[string]string{"CALL_WEBHOOK_SECRET": "c", "RAZORPAY_WEBHOOK_SECRET": "r", "HANDOFF_TIMEOUT": "6s"}, "HANDOFF_TIMEOUT"},
		{"placeholder of .env.example", map[string]string{"CALL_WEBHOOK_SECRET": "c", "RAZORPAY_WEBHOOK_SECRET": "r2, change-me-razorpay-webhook-secret"}, "RAZORPAY_WEBHOOK_SECRET still holds a placeholder"},
		{"valid", map[string]string{"CALL_WEBHOOK_SECRET": "new, old", "RAZORPAY_WEBHOOK_SECRET": "r"}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var cfg config
			err := service.Load(context.Background(), &cfg, envconfig.MapLookuper(tc.env))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || strings.Contains(err.Error(), "\n") {
					t.Fatalf("err = %v, want one line containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			r := cfg.Receiver
			if len(r.CallSecrets) != 2 || string(r.CallSecrets[1]) != "old" || r.BodyLimit != 1<<20 || r.Addr != ":8080" ||
				r.HandoffTimeout != 2*time.Second || cfg.Temporal.TaskQueue != "zentrix-webhooks" || cfg.Temporal.Address != "127.0.0.1:7233" {
				t.Errorf("config = %+v", cfg)
			}
			if s := r.CallSecrets.String(); strings.Contains(s, "new") {
				t.Errorf("secrets print as %q", s)
			}
		})
	}
}
