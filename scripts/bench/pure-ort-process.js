/**
 * The whole-process pure onnxruntime baseline of `npm run bench`: a plain Node script, no project
 * code, that does only what onnxruntime needs to run the same segments: start, load
 * onnxruntime-node, create one session per instrument file in its own worker thread (intra-op
 * threads split between them) and run every segment through both, then exit.
 *
 *   node scripts/bench/pure-ort-process.js <model dir> <segments> <threads> <F> [session options JSON]
 *
 * The optional JSON is merged into the session options (e.g. '{"enableCpuMemArena":false}' or
 * '{"extra":{"session":{"intra_op":{"allow_spinning":"0"}}}}'), to measure one option at a time.
 *
 * Prints nothing: bench-engine.ts measures it from outside (wall, CPU time and peak RSS under
 * /usr/bin/time, process start → exit).
 */
const { Worker, isMainThread, parentPort, workerData } = require('worker_threads');
const path = require('path');

const T = 512;

if (isMainThread) {
  const [dir, segmentsArg, threadsArg, fArg, optionsArg] = process.argv.slice(2);
  const extraOptions = optionsArg ? JSON.parse(optionsArg) : {};
  const segments = Number(segmentsArg);
  const threads = Number(threadsArg);
  const F = Number(fArg);
  const files = ['vocals.onnx', 'accompaniment.onnx'].map((f) => path.join(dir, f));
  const perWorker = Math.max(1, Math.floor(threads / files.length));
  const workers = files.map(
    (file) => new Worker(__filename, { workerData: { file, perWorker, segments, F, extraOptions } }),
  );
  let left = workers.length;
  for (const w of workers) {
    w.on('message', () => {
      if (--left === 0) process.exit(0);
    });
    w.on('error', (err) => {
      process.stderr.write(`${err.stack ?? err}\n`);
      process.exit(1);
    });
  }
} else {
  const ort = require('onnxruntime-node');
  const { file, perWorker, segments, F, extraOptions } = workerData;
  (async () => {
    const session = await ort.InferenceSession.create(file, {
      executionProviders: ['cpu'],
      intraOpNumThreads: perWorker,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
      ...extraOptions,
    });
    const data = new Float32Array(2 * T * F);
    for (let i = 0; i < data.length; i++) data[i] = ((i * 2654435761) % 1000) / 1000;
    for (let s = 0; s < segments; s++) {
      await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', data, [2, 1, T, F]) });
    }
    parentPort.postMessage('done');
  })();
}
