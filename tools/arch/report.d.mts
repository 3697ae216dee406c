export declare const LAYERS: string[][];
export declare function layerOf(folder: string): number | undefined;
export interface ArchReport {
  files: { file: string; lines: number }[];
  functions: { file: string; name: string; lines: number }[];
  cycles: string[][];
  upward: string[];
  unlayered: string[];
}
export declare function analyse(root: string): ArchReport;
