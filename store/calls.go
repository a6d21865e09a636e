package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/zentrix/webhooks/activities"
)

// Call statuses, as stored in calls.status.
const (
	statusInProgress  = "in_progress"
	statusTransferred = "transferred"
	statusEnded       = "ended"
	statusAbandoned   = "abandoned"
)

// upsertCallSQL writes the calls row unless the stored one has a higher
// revision: then nothing is changed and no row is affected. An equal revision
// rewrites the row, so saving the same snapshot again is harmless. On
// PostgreSQL the conflict path locks the row whether or not it updates it,
// which serialises concurrent saves of one call until their commits.
const upsertCallSQL = `INSERT INTO calls
	(call_id, agent_id, current_agent_id, instance_id, platform, status,
	 started_at, ended_at, duration_seconds, transcript, sentiment, summary,
	 disconnection_reason, revision, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (call_id) DO UPDATE SET
	agent_id = excluded.agent_id,
	current_agent_id = excluded.current_agent_id,
	instance_id = excluded.instance_id,
	platform = excluded.platform,
	status = excluded.status,
	started_at = excluded.started_at,
	ended_at = excluded.ended_at,
	duration_seconds = excluded.duration_seconds,
	transcript = excluded.transcript,
	sentiment = excluded.sentiment,
	summary = excluded.summary,
	disconnection_reason = excluded.disconnection_reason,
	revision = excluded.revision,
	updated_at = excluded.updated_at
WHERE calls.revision <= excluded.revision`

const deleteTransfersSQL = `DELETE FROM call_transfers WHERE call_id = ?`

const insertTransferSQL = `INSERT INTO call_transfers
	(call_id, sequence, event_key, from_agent_id, to_agent_id, reason, context, transferred_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)`

const selectCallSQL = `SELECT call_id, agent_id, current_agent_id, instance_id, platform, status,
	started_at, ended_at, duration_seconds, transcript, sentiment, summary,
	disconnection_reason, revision, updated_at
FROM calls
WHERE call_id = ?`

const selectTransfersSQL = `SELECT call_id, sequence, event_key, from_agent_id, to_agent_id, reason, context, transferred_at
FROM call_transfers
WHERE call_id = ?
ORDER BY sequence`

// SaveCall writes snap in one transaction: the event's webhook_events row
// (once, as RecordEvent does), the calls row, and the call's transfers, which
// replace the stored list. A snapshot whose revision is lower than the stored
// row's is stale: the calls and call_transfers rows stay as they are, and the
// event row is still recorded.
//
// Zero StartedAt and EndedAt are stored as NULL. DurationSeconds is stored
// only when EndedAt is set (NULL otherwise, read back as 0). Times are stored
// in UTC, truncated to microseconds.
//
// Invalid snapshots (text or times that would not be stored the same way on
// both dialects, an empty call ID, an unknown status, a revision below 1,
// transfers of another call or not numbered 1, 2, … in order) are refused
// before anything is written; they and the data the database refuses give
// an error that wraps activities.ErrRejected, and nothing is written.
func (s *Store) SaveCall(ctx context.Context, snap activities.CallSnapshot) error {
	if err := validateSnapshot(snap); err != nil {
		return fmt.Errorf("save call: %w: %w", activities.ErrRejected, err)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return wrap("save call", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op (sql.ErrTxDone) after Commit

	if snap.Event != nil {
		if _, err := s.insertEvent(ctx, tx, *snap.Event); err != nil {
			return wrap("save call: record event", err)
		}
	}

	c := snap.Call
	var duration any
	if !truncTime(c.EndedAt).IsZero() {
		duration = c.DurationSeconds
	}
	res, err := tx.ExecContext(ctx, s.rebind(upsertCallSQL),
		c.CallID, c.AgentID, c.CurrentAgentID, c.InstanceID, c.Platform, c.Status,
		s.nullTimeArg(c.StartedAt), s.nullTimeArg(c.EndedAt), duration,
		c.Transcript, c.Sentiment, c.Summary, c.DisconnectionReason,
		c.Revision, s.timeArg(c.UpdatedAt))
	if err != nil {
		return wrap("save call: upsert call", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return wrap("save call: upsert call", err)
	}
	if n > 0 {
		// Not stale: the row is ours (locked on PostgreSQL, and SQLite has one
		// writer) until commit, so the transfers can be replaced safely.
		if _, err := tx.ExecContext(ctx, s.rebind(deleteTransfersSQL), c.CallID); err != nil {
			return wrap("save call: delete transfers", err)
		}
		for _, tr := range snap.Transfers {
			_, err := tx.ExecContext(ctx, s.rebind(insertTransferSQL),
				tr.CallID, tr.Sequence, tr.EventKey, tr.FromAgentID, tr.ToAgentID,
				tr.Reason, tr.Context, s.timeArg(tr.TransferredAt))
			if err != nil {
				return wrap("save call: insert transfer", err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return wrap("save call: commit", err)
	}
	return nil
}

// validateSnapshot checks snap before anything is written. Messages name the
// field, never its value.
func validateSnapshot(snap activities.CallSnapshot) error {
	c := snap.Call
	for _, f := range []struct{ name, v string }{
		{"call_id", c.CallID},
		{"agent_id", c.AgentID},
		{"current_agent_id", c.CurrentAgentID},
		{"instance_id", c.InstanceID},
		{"platform", c.Platform},
		{"status", c.Status},
		{"transcript", c.Transcript},
		{"sentiment", c.Sentiment},
		{"summary", c.Summary},
		{"disconnection_reason", c.DisconnectionReason},
	} {
		if err := checkText(f.name, f.v); err != nil {
			return err
		}
	}
	if c.CallID == "" {
		return errors.New("call_id is empty")
	}
	switch c.Status {
	case statusInProgress, statusTransferred, statusEnded, statusAbandoned:
	default:
		return errors.New("status is not one of in_progress, transferred, ended, abandoned")
	}
	if c.Revision < 1 {
		return errors.New("revision is below 1")
	}
	for _, f := range []struct {
		name string
		v    time.Time
	}{
		{"started_at", c.StartedAt},
		{"ended_at", c.EndedAt},
		{"updated_at", c.UpdatedAt},
	} {
		if err := checkTime(f.name, f.v); err != nil {
			return err
		}
	}
	// SQLite stores NaN as NULL; PostgreSQL keeps NaN and ±Infinity.
	if math.IsNaN(c.DurationSeconds) || math.IsInf(c.DurationSeconds, 0) {
		return errors.New("duration_seconds is not a finite number")
	}
	for i, tr := range snap.Transfers {
		if err := validateTransfer(c.CallID, i, tr); err != nil {
			return err
		}
	}
	if snap.Event != nil {
		if err := validate(*snap.Event); err != nil {
			return fmt.Errorf("event: %w", err)
		}
	}
	return nil
}

// validateTransfer checks the transfer at index i of a snapshot of callID.
func validateTransfer(callID string, i int, tr activities.TransferRecord) error {
	for _, f := range []struct{ name, v string }{
		{"call_id", tr.CallID},
		{"event_key", tr.EventKey},
		{"from_agent_id", tr.FromAgentID},
		{"to_agent_id", tr.ToAgentID},
		{"reason", tr.Reason},
		{"context", tr.Context},
	} {
		if err := checkText(fmt.Sprintf("transfers[%d].%s", i, f.name), f.v); err != nil {
			return err
		}
	}
	if tr.CallID != callID {
		return fmt.Errorf("transfers[%d].call_id differs from the call's", i)
	}
	if tr.Sequence != i+1 {
		return fmt.Errorf("transfers[%d].sequence is out of order: want 1, 2, … in list order", i)
	}
	return checkTime(fmt.Sprintf("transfers[%d].transferred_at", i), tr.TransferredAt)
}

// Call reads the calls row of callID. The error wraps ErrNotFound when there
// is none. Times are in UTC; NULL times read as the zero time and a NULL
// duration as 0.
func (s *Store) Call(ctx context.Context, callID string) (activities.CallRecord, error) {
	var (
		c                       activities.CallRecord
		started, ended, updated timeValue
		duration                sql.NullFloat64
	)
	err := s.db.QueryRowContext(ctx, s.rebind(selectCallSQL), callID).Scan(
		&c.CallID, &c.AgentID, &c.CurrentAgentID, &c.InstanceID, &c.Platform, &c.Status,
		&started, &ended, &duration, &c.Transcript, &c.Sentiment, &c.Summary,
		&c.DisconnectionReason, &c.Revision, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return activities.CallRecord{}, fmt.Errorf("get call: %w", ErrNotFound)
	}
	if err != nil {
		return activities.CallRecord{}, wrap("get call", err)
	}
	c.StartedAt, c.EndedAt, c.UpdatedAt = started.t, ended.t, updated.t
	c.DurationSeconds = duration.Float64
	return c, nil
}

// CallTransfers reads the transfers of callID in sequence order. It returns
// an empty slice, not an error, when there are none (or no such call).
func (s *Store) CallTransfers(ctx context.Context, callID string) ([]activities.TransferRecord, error) {
	rows, err := s.db.QueryContext(ctx, s.rebind(selectTransfersSQL), callID)
	if err != nil {
		return nil, wrap("get call transfers", err)
	}
	defer rows.Close()
	trs := []activities.TransferRecord{}
	for rows.Next() {
		var (
			tr activities.TransferRecord
			at timeValue
		)
		if err := rows.Scan(&tr.CallID, &tr.Sequence, &tr.EventKey, &tr.FromAgentID, &tr.ToAgentID,
			&tr.Reason, &tr.Context, &at); err != nil {
			return nil, wrap("get call transfers", err)
		}
		tr.TransferredAt = at.t
		trs = append(trs, tr)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("get call transfers", err)
	}
	return trs, nil
}
