/** CPU time (all threads, user + system) this process spends over a stretch. */

/** Starts counting; the returned function gives the µs of CPU spent since. */
export function startCounters() {
  const cpu = process.cpuUsage();
  return () => {
    const spent = process.cpuUsage(cpu);
    return { cpuMicros: spent.user + spent.system };
  };
}
