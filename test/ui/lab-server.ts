/**
 * A JupyterLab server for the browser test, started the way a user starts it (`npm run lab`, jupyter/open.sh)
 * on a free loopback port. Jupyter's own settings, runtime files and workspaces go to a folder of the test's,
 * so the test neither reads nor changes the developer's. It is stopped, with its kernels, even on failure.
 */
import { ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { PROJECT_DIR } from "../../lib/runtime/config";

export interface LabServer {
  /** e.g. http://127.0.0.1:38123 */
  base: string;
  token: string;
  /** Everything the server printed so far. */
  log(): string;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Settings a test needs: no news pop-up over the page, no update check (the machine reaches no such site). */
function writeLabSettings(settingsDir: string): void {
  const file = path.join(settingsDir, "@jupyterlab", "apputils-extension", "notification.jupyterlab-settings");
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify({ fetchNews: "false", checkForUpdates: false }));
}

export async function startLab(options: { home: string; env: NodeJS.ProcessEnv; preset: string }): Promise<LabServer> {
  fs.rmSync(options.home, { recursive: true, force: true });
  const dirs = {
    JUPYTER_CONFIG_DIR: path.join(options.home, "config"),
    JUPYTER_DATA_DIR: path.join(options.home, "data"),
    JUPYTER_RUNTIME_DIR: path.join(options.home, "runtime"),
    JUPYTERLAB_SETTINGS_DIR: path.join(options.home, "lab-settings"),
    JUPYTERLAB_WORKSPACES_DIR: path.join(options.home, "lab-workspaces"),
  };
  for (const dir of Object.values(dirs)) fs.mkdirSync(dir, { recursive: true });
  writeLabSettings(dirs.JUPYTERLAB_SETTINGS_DIR);
  const port = await freePort();
  const child: ChildProcess = spawn(
    "bash",
    [
      path.join(PROJECT_DIR, "jupyter", "open.sh"),
      "--preset",
      options.preset,
      "--no-browser",
      "--port",
      String(port),
      "--ServerApp.ip=127.0.0.1",
    ],
    { cwd: PROJECT_DIR, env: { ...process.env, ...options.env, ...dirs }, stdio: ["ignore", "pipe", "pipe"], detached: true },
  );
  let output = "";
  child.stdout?.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (output += d.toString()));
  let exited = false;
  child.on("exit", () => (exited = true));

  const stop = async (): Promise<void> => {
    if (exited || child.pid === undefined) return;
    // The whole process group: bash, jupyter-lab and the kernels it started.
    const signal = (s: NodeJS.Signals) => {
      try {
        process.kill(-child.pid!, s);
      } catch {
        /* already gone */
      }
    };
    signal("SIGTERM");
    for (let i = 0; i < 50 && !exited; i++) await new Promise((r) => setTimeout(r, 100));
    if (!exited) signal("SIGKILL");
  };
  const onExit = () => void stop();
  process.once("exit", onExit);

  // `npm run lab` must print the URL with its token: the test reads it from there, as a user would.
  const pattern = new RegExp(`http://127\\.0\\.0\\.1:${port}/lab\\?token=([0-9a-f]+)`);
  const started = Date.now();
  for (;;) {
    const match = pattern.exec(output);
    if (match) {
      return { base: `http://127.0.0.1:${port}`, token: match[1]!, log: () => output, stop };
    }
    if (exited) throw new Error(`JupyterLab exited before printing its URL:\n${output}`);
    if (Date.now() - started > 120_000) {
      await stop();
      throw new Error(`JupyterLab printed no URL with a token within 2 minutes:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}
