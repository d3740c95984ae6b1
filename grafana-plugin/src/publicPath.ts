import amdModule from 'amd-module';

// Lazy page chunks load from where module.js was loaded: SystemJS hands AMD modules their uri.
// Falls back to Grafana's default location for the plugin's files.
declare let __webpack_public_path__: string;
if (amdModule?.uri) __webpack_public_path__ = amdModule.uri.slice(0, amdModule.uri.lastIndexOf('/') + 1);
