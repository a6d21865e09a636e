// Package e2e holds the end-to-end tests: a real Temporal dev server started
// from bin/temporal, the worker and the receiver in-process, signed webhooks
// over real HTTP, and the rows they leave in the store.
package e2e
