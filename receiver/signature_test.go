package receiver_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"testing"

	"github.com/zentrix/webhooks/receiver"
)

func TestVerifier(t *testing.T) {
	t.Parallel()
	body := []byte(`{"event":"call.started"}`)
	v := receiver.NewVerifier([][]byte{[]byte("old"), []byte("new")})
	good := sign("new", body)
	cases := []struct {
		name string
		sig  string
		want error
	}{
		{"new secret", good, nil},
		{"old secret", sign("old", body), nil},
		{"missing", "", receiver.ErrSignatureMissing},
		{"upper case", string(bytes.ToUpper([]byte(good))), receiver.ErrSignatureMalformed},
		{"truncated", good[:62], receiver.ErrSignatureMalformed},
		{"too long", good + "a", receiver.ErrSignatureMalformed},
		{"non-hex", "g" + good[1:], receiver.ErrSignatureMalformed},
		{"unknown secret", sign("other", body), receiver.ErrSignatureMismatch},
		{"one bit off", good[:63] + string("0123456789abcdef"[(int(good[63]-'0')+1)%10]), receiver.ErrSignatureMismatch},
	}
	for _, tc := range cases {
		if err := v.Verify(body, []byte(tc.sig)); !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
	}
	if err := v.Verify(append(body, ' '), []byte(good)); !errors.Is(err, receiver.ErrSignatureMismatch) {
		t.Errorf("a changed body verified: %v", err)
	}
}

func TestVerifierDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under -race; make test also runs this package without it")
	}
	body := bytes.Repeat([]byte("x"), 1500)
	v := receiver.NewVerifier([][]byte{[]byte("k")})
	sig := []byte(sign("k", body))
	_ = v.Verify(body, sig) // warm the pool
	if n := testing.AllocsPerRun(100, func() { _ = v.Verify(body, sig) }); n != 0 {
		t.Errorf("Verify allocates %.1f times per call", n)
	}
}

// FuzzVerify checks the verifier against crypto/hmac on arbitrary bodies and
// signatures: it must accept exactly the lowercase hex HMAC of the body.
func FuzzVerify(f *testing.F) {
	body := []byte(`{"event":"call.started","timestamp":"2026-03-05T14:30:00Z","data":{"callId":"c1"}}`)
	f.Add(body, sign("s", body))
	f.Add([]byte{}, "")
	f.Add(body, "ZZ")
	f.Add(body, string(bytes.ToUpper([]byte(sign("s", body)))))
	v := receiver.NewVerifier([][]byte{[]byte("s")})
	f.Fuzz(func(t *testing.T, body []byte, sig string) {
		m := hmac.New(sha256.New, []byte("s"))
		m.Write(body)
		want := fmt.Sprintf("%x", m.Sum(nil))
		err := v.Verify(body, []byte(sig))
		if (err == nil) != (sig == want) {
			t.Fatalf("Verify(%q, %q) = %v; correct signature %q", body, sig, err, want)
		}
		if err := v.Verify(body, []byte(want)); err != nil {
			t.Fatalf("the correct signature was refused: %v", err)
		}
	})
}

func BenchmarkVerify(b *testing.B) {
	for _, size := range []int{256, 1500, 16 << 10, 64 << 10} {
		body := bytes.Repeat([]byte("x"), size)
		sig := []byte(sign("k", body))
		b.Run(fmt.Sprintf("verifier/%dB", size), func(b *testing.B) {
			v := receiver.NewVerifier([][]byte{[]byte("k")})
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				if v.Verify(body, sig) != nil {
					b.Fatal("refused")
				}
			}
		})
		b.Run(fmt.Sprintf("crypto-hmac/%dB", size), func(b *testing.B) {
			want := make([]byte, 32)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				m := hmac.New(sha256.New, []byte("k"))
				m.Write(body)
				if !hmac.Equal(m.Sum(nil), want) && len(sig) == 0 {
					b.Fatal("unreachable")
				}
			}
		})
	}
}
