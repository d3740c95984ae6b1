// Browser APIs jsdom lacks but @grafana/ui uses (as create-plugin's jest-setup.js provides).
require('@testing-library/jest-dom');
const { TextEncoder, TextDecoder } = require('util');
Object.assign(global, { TextEncoder, TextDecoder });
// react-dom/server (imported by @grafana/ui) schedules with MessageChannel; Node's keeps Jest alive, so use timers.
if (!global.MessageChannel) {
  global.MessageChannel = class {
    constructor() {
      const mk = () => ({ onmessage: null, postMessage: undefined, close() {} });
      this.port1 = mk();
      this.port2 = mk();
      this.port1.postMessage = (data) => setTimeout(() => this.port2.onmessage?.({ data }));
      this.port2.postMessage = (data) => setTimeout(() => this.port1.onmessage?.({ data }));
    }
  };
}
if (!window.matchMedia) {
  Object.defineProperty(window, 'matchMedia', {
    writable: true,
    value: (query) => ({
      matches: false,
      media: query,
      onchange: null,
      addListener: () => {},
      removeListener: () => {},
      addEventListener: () => {},
      removeEventListener: () => {},
      dispatchEvent: () => false,
    }),
  });
}
global.ResizeObserver = class {
  observe() {}
  unobserve() {}
  disconnect() {}
};
window.HTMLElement.prototype.scrollIntoView = function () {};
// jsdom's crypto lacks randomUUID (schema's makeEvent uses it).
if (!globalThis.crypto?.randomUUID) {
  Object.defineProperty(globalThis, 'crypto', { value: require('crypto').webcrypto, configurable: true });
}
global.IntersectionObserver = class {
  observe() {}
  unobserve() {}
  disconnect() {}
  takeRecords() {
    return [];
  }
};
// A noisy 2-core CI machine: give findBy*/waitFor ten seconds before failing (they return as soon as they pass).
require('@testing-library/react').configure({ asyncUtilTimeout: 10000 });
