/** @fogline/shared/mqtt-client: what every MQTT.js client of fogline sets on its connection. */
export { disableNagle } from './no-delay.ts';
