/** @fogline/cloud/testing: test support around a real CloudServer (digits data, requests, the fabric). */

export * from '../store/scratch-database.ts';
export * from './cloud-fixture.ts';
export * from './deployment-fixture.ts';
export * from './fabric-fixture.ts';
