// The peer: hono's own jwt middleware (HS256, one fixed secret) in front of the same forwarding.
import { Hono } from "hono";
import { jwt } from "hono/jwt";

declare const BENCH_SECRET: string;

const app = new Hono<{ Bindings: { ORIGIN: Fetcher } }>();
app.use("*", jwt({ secret: BENCH_SECRET, alg: "HS256" }));
app.all("*", (c) => c.env.ORIGIN.fetch(c.req.raw));

export default app;
