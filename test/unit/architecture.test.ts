// The shape docs/architecture.md promises: imports point down the layer order, no import
// cycles (type-only imports included), every folder of src/ has a layer.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { analyse } from '../../tools/arch/report.mjs';

const report = analyse(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..'));

describe('architecture of src/', () => {
  it('has no import that points up the layer order', () => {
    expect(report.upward).toEqual([]);
  });
  it('has no import cycle, type-only imports included', () => {
    expect(report.cycles).toEqual([]);
  });
  it('gives every folder a layer', () => {
    expect(report.unlayered).toEqual([]);
  });
  it('reads every source file (the check is not vacuous)', () => {
    expect(report.files.length).toBeGreaterThan(100);
    expect(report.functions.length).toBeGreaterThan(500);
  });
});
