/**
 * The part of the WebAssembly JS API that the generated kernels use (Node has it as a global;
 * @types/node 20 does not declare it, and the DOM lib would bring the whole browser).
 * https://webassembly.github.io/spec/js-api/
 */
declare namespace WebAssembly {
  type ExportValue = ((...args: never[]) => unknown) | Memory | object;
  type Exports = Record<string, ExportValue>;
  type ImportValue = ((...args: never[]) => unknown) | Memory | number;
  type Imports = Record<string, Record<string, ImportValue>>;
  class Module {
    constructor(bytes: Uint8Array);
  }
  class Instance {
    constructor(module: Module, imports?: Imports);
    readonly exports: Exports;
  }
  class Memory {
    constructor(descriptor: { initial: number; maximum?: number });
    readonly buffer: ArrayBuffer;
    grow(pages: number): number;
  }
  function validate(bytes: Uint8Array): boolean;
}
