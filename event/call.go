package event

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"
)

// Call event types sent by the voice platform.
const (
	CallStarted     = "call.started"
	CallTransferred = "call.transferred"
	CallEnded       = "call.ended"
)

// Call is one voice-platform event: the envelope {event, timestamp, data}.
type Call struct {
	Event     string    `json:"event"`
	Timestamp time.Time `json:"timestamp"`
	Data      CallData  `json:"data"`
}

// CallData holds the fields of all three call events; each event fills its own.
// The caller's number is deliberately absent: it is never decoded.
type CallData struct {
	CallID     string `json:"callId"`
	AgentID    string `json:"agentId,omitempty"`
	InstanceID string `json:"instanceId,omitempty"`
	Platform   string `json:"platform,omitempty"`

	// call.ended
	Duration            float64 `json:"duration,omitempty"` // seconds
	Transcript          string  `json:"transcript,omitempty"`
	Sentiment           string  `json:"sentiment,omitempty"`
	Summary             string  `json:"summary,omitempty"`
	DisconnectionReason string  `json:"disconnectionReason,omitempty"`

	// call.transferred
	FromAgentID         string          `json:"fromAgentId,omitempty"`
	ToAgentID           string          `json:"toAgentId,omitempty"`
	TransferReason      string          `json:"transferReason,omitempty"`
	ConversationContext json.RawMessage `json:"conversationContext,omitempty"`
}

// ParseCall decodes and validates a voice-platform event from the raw body.
// It returns an error wrapping ErrInvalid for a body that is not an event or a
// known event without its key fields, and ErrUnhandled (with the decoded
// envelope) for an event type the system does not handle.
func ParseCall(body []byte) (Call, error) {
	var c Call
	if err := json.Unmarshal(body, &c); err != nil {
		if name := eventName(body); name != "" && !isCallEvent(name) {
			return Call{Event: name}, ErrUnhandled
		}
		return Call{}, invalid("body is not a call event: %s", jsonProblem(err))
	}
	switch {
	case isCallEvent(c.Event):
	case c.Event == "":
		return Call{}, invalid("event is missing")
	default:
		return c, ErrUnhandled
	}
	if err := checkID("data.callId", c.Data.CallID); err != nil {
		return Call{}, err
	}
	if c.Timestamp.IsZero() {
		return Call{}, invalid("timestamp is missing")
	}
	if err := checkTime("timestamp", c.Timestamp); err != nil {
		return Call{}, err
	}
	if c.Event == CallTransferred {
		if err := checkID("data.toAgentId", c.Data.ToAgentID); err != nil {
			return Call{}, err
		}
		if c.Data.FromAgentID != "" {
			if err := checkID("data.fromAgentId", c.Data.FromAgentID); err != nil {
				return Call{}, err
			}
		}
	}
	for _, f := range []struct{ name, value string }{
		{"data.agentId", c.Data.AgentID}, {"data.instanceId", c.Data.InstanceID}, {"data.platform", c.Data.Platform},
	} {
		if err := checkLabel(f.name, f.value); err != nil {
			return Call{}, err
		}
	}
	if c.Data.Duration < 0 {
		return Call{}, invalid("data.duration is negative")
	}
	if len(c.Data.ConversationContext) > 0 && string(c.Data.ConversationContext) == "null" {
		c.Data.ConversationContext = nil
	}
	cleanText(&c.Data)
	if c.Data.ConversationContext != nil {
		c.Data.ConversationContext = cleanRawJSON(c.Data.ConversationContext)
	}
	c.Timestamp = c.Timestamp.UTC()
	return c, nil
}

func isCallEvent(name string) bool {
	return name == CallStarted || name == CallTransferred || name == CallEnded
}

// Key identifies the event across redeliveries: the voice platform sends no
// event id, so the key is derived from what the event is. A call starts and
// ends once; each transfer is told apart by its time and its two agents
// (hashed, so that no agent id can make two transfers collide).
func (c Call) Key() string {
	if c.Event != CallTransferred {
		return c.Data.CallID + "/" + c.Event
	}
	h := sha256.New()
	h.Write([]byte(c.Data.FromAgentID))
	h.Write([]byte{0})
	h.Write([]byte(c.Data.ToAgentID))
	agents := hex.EncodeToString(h.Sum(nil)[:8])
	return c.Data.CallID + "/" + CallTransferred + "/" + c.Timestamp.UTC().Format(time.RFC3339Nano) + "/" + agents
}
