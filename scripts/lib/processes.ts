/**
 * What the scripts, the node tests and the benchmark need of the machine: a free TCP port, and
 * npm run the way `npm run` itself was started.
 */

import { execFile } from "node:child_process";
import { createServer } from "node:net";
import { promisify } from "node:util";

const run = promisify(execFile);

/** A TCP port on 127.0.0.1 that nothing listens on now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port")),
      );
    });
  });
}

/** npm as `npm run` started it (npm_execpath), else the one on PATH; quiet about audits and funding. */
export function npm(
  args: string[],
  cwd: string,
  maxBuffer = 64 * 1024 * 1024,
): Promise<{ stdout: string; stderr: string }> {
  const cli = process.env.npm_execpath;
  const env = {
    ...process.env,
    npm_config_audit: "false",
    npm_config_fund: "false",
    npm_config_update_notifier: "false",
  };
  const options = { cwd, env, maxBuffer, shell: !cli && process.platform === "win32" };
  return cli ? run(process.execPath, [cli, ...args], options) : run("npm", args, options);
}
