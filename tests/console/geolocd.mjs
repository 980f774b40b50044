// Runs a real geolocd on loopback for the browser tests: ports picked by the kernel and read from
// --port_file, ready when GET /readyz answers 200 (the server's own state, never a sleep).
//
//   const server = await startGeolocd({geolocd, fixture, bundle, consoleDir, tokenFile, workDir});
//   const base = server.baseUrl;   // "http://127.0.0.1:PORT/"
//   await server.stop();           // SIGTERM, waits for the exit
import {spawn} from "node:child_process";
import fs from "node:fs";
import path from "node:path";

const READY_TIMEOUT_MS = 180000;  // model load on a busy 2-core machine
const POLL_MS = 100;

function delay(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// The port file holds "<grpc port> <metrics port> <http port>" once geolocd listens.
function readHttpPort(portFile) {
  let text;
  try {
    text = fs.readFileSync(portFile, "utf8");
  } catch {
    return 0;
  }
  const ports = text.trim().split(/\s+/).map(Number);
  return ports.length >= 3 && ports[2] > 0 ? ports[2] : 0;
}

export async function startGeolocd({geolocd, fixture, bundle, consoleDir, tokenFile, workDir,
                                    extraFlags = []}) {
  const portFile = path.join(workDir, "ports");
  const logFile = path.join(workDir, "geolocd.log");
  fs.rmSync(portFile, {force: true});
  const args = [
    "--listen=127.0.0.1:0", "--metrics_listen=127.0.0.1:0", "--http_address=127.0.0.1:0",
    `--port_file=${portFile}`, `--console_dir=${consoleDir}`,
    `--model=${fixture}/model.pt`, `--bundle=${bundle}`,
    "--intra_op_threads=1", "--decode_threads=1", "--estimate_threads=1", "--log_level=info",
    ...(tokenFile ? [`--token_file=${tokenFile}`] : []), ...extraFlags,
  ];
  const log = fs.openSync(logFile, "w");
  const child = spawn(geolocd, args, {stdio: ["ignore", log, log]});
  let exited = null;
  child.on("exit", (code, signal) => { exited = signal || code; });
  const logText = () => fs.readFileSync(logFile, "utf8");

  const deadline = Date.now() + READY_TIMEOUT_MS;
  let port = 0;
  while (Date.now() < deadline && exited === null) {
    port = port || readHttpPort(portFile);
    if (port) {
      try {
        const r = await fetch(`http://127.0.0.1:${port}/readyz`);
        if (r.status === 200) break;
      } catch {
        // listening soon
      }
    }
    await delay(POLL_MS);
  }
  if (exited !== null || Date.now() >= deadline) {
    child.kill("SIGKILL");
    throw new Error(`geolocd did not become ready (exit ${exited}):\n${logText()}`);
  }
  return {
    baseUrl: `http://127.0.0.1:${port}/`,
    log: logText,
    async stop() {
      if (exited !== null) return exited;
      const done = new Promise((resolve) => child.on("exit", (code, signal) => resolve(signal || code)));
      child.kill("SIGTERM");
      return done;
    },
  };
}
