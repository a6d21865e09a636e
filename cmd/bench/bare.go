package main

import (
	"github.com/gofiber/fiber/v2"
)

// bareFiberCommand runs, in a child process, the forged-request baseline: a
// Fiber server with the receiver's settings whose webhook route answers 200
// without looking at the request.
const bareFiberCommand = "bare-fiber"

func serveBareFiber(addr string) error {
	app := fiber.New(fiber.Config{
		BodyLimit: 1 << 20, DisableStartupMessage: true,
		ReadTimeout: readTimeout, WriteTimeout: writeTimeout, IdleTimeout: idleTimeout,
	})
	ok := []byte(`{"status":"ok"}`)
	app.Post("/api/calls/webhooks", func(c *fiber.Ctx) error {
		c.Response().Header.SetContentType(fiber.MIMEApplicationJSON)
		return c.Send(ok)
	})
	app.Get("/healthz", func(c *fiber.Ctx) error { return c.SendString("ok") })
	return app.Listen(addr)
}
