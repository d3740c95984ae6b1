/** AMD's `module` dependency (see .config/externals.cjs). */
declare module 'amd-module' {
  const module: { uri?: string; id?: string } | undefined;
  export default module;
}
declare module '*.svg' {
  const url: string;
  export default url;
}
