// Package deploy holds what runs the service outside `make run`: the
// Temporal setup scripts and dynamic config mounted by docker-compose.yml
// (deploy/temporal), the container health probe built into the image
// (deploy/healthcheck), and the tests that check docker-compose.yml,
// .env.example and the Dockerfile against the code (there is no Docker engine
// in CI, so the compose file is loaded and validated with compose-go).
package deploy
