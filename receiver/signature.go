package receiver

import (
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"hash"
	"sync"
)

// Why a signature was refused; each is a 401. The reason goes to metrics, never
// to the response.
var (
	ErrSignatureMissing   = errors.New("signature header missing")
	ErrSignatureMalformed = errors.New("signature is not 64 lowercase hex digits")
	ErrSignatureMismatch  = errors.New("signature matches no configured secret")
)

// Verifier checks a lowercase hex HMAC-SHA256 of the raw body against each of
// a set of secrets in constant time. It is safe for concurrent use and does not
// allocate per call once warm.
type Verifier struct {
	macs []*sync.Pool // one pool of keyed HMAC states per secret
}

type mac struct {
	h   hash.Hash
	sum [sha256.Size]byte
}

// NewVerifier returns a Verifier for the given secrets.
func NewVerifier(secrets [][]byte) *Verifier {
	v := &Verifier{}
	for _, s := range secrets {
		key := append([]byte(nil), s...)
		v.macs = append(v.macs, &sync.Pool{New: func() any {
			return &mac{h: hmac.New(sha256.New, key)}
		}})
	}
	return v
}

// Verify reports whether signature (as sent in the header) is the HMAC of body
// under one of the secrets.
func (v *Verifier) Verify(body, signature []byte) error {
	if len(signature) == 0 {
		return ErrSignatureMissing
	}
	var want [sha256.Size]byte
	if !decodeLowerHex(want[:], signature) {
		return ErrSignatureMalformed
	}
	for _, pool := range v.macs {
		m := pool.Get().(*mac)
		m.h.Reset()
		m.h.Write(body)
		ok := hmac.Equal(m.h.Sum(m.sum[:0]), want[:])
		pool.Put(m)
		if ok {
			return nil
		}
	}
	return ErrSignatureMismatch
}

// decodeLowerHex decodes exactly len(dst)*2 lowercase hex digits. Senders sign
// in lowercase; anything else is refused rather than normalised.
func decodeLowerHex(dst, src []byte) bool {
	if len(src) != 2*len(dst) {
		return false
	}
	for i := range dst {
		hi, ok1 := lowerHexValue(src[2*i])
		lo, ok2 := lowerHexValue(src[2*i+1])
		if !ok1 || !ok2 {
			return false
		}
		dst[i] = hi<<4 | lo
	}
	return true
}

func lowerHexValue(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}
