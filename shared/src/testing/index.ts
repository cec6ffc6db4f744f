/** @fogline/shared/testing: test support (a real broker with real clients; the machine's Mosquitto). */
export * from './broker-test-kit.ts';
export { cutOnceHeld } from './cut-once-held.ts';
export { type FileAnswer, fileAnswer } from './file-answer.ts';
export { freePort } from './free-port.ts';
export * from './mosquitto.ts';
export { openSlowSocket, type SlowSocket } from './slow-socket.ts';
export { mountTmpfs, unmountTmpfs } from './tmpfs.ts';
