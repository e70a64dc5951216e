/** WebGL renderer strings of software emulation (no GPU): SwiftShader, llvmpipe, ... */
export function isSoftwareRenderer(renderer: string): boolean {
  return /swiftshader|llvmpipe|softpipe|software/i.test(renderer);
}
