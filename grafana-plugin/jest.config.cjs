/**
 * Jest like create-plugin's `.config/jest.config.js`: jsdom, SWC transform,
 * CSS mapped to identity-obj-proxy. Component tests sit beside the code in
 * src/ and timeline-ui/src/; the browser tests (tests/) run under node --test.
 */
const path = require('path');

module.exports = {
  rootDir: __dirname,
  roots: ['<rootDir>/src', '<rootDir>/timeline-ui/src', '<rootDir>/scripts'],
  testEnvironment: 'jsdom',
  testMatch: ['**/*.test.{ts,tsx}'],
  setupFilesAfterEnv: [path.join(__dirname, '.config/jest-setup.cjs')],
  moduleNameMapper: {
    '\\.(css|scss|sass)$': 'identity-obj-proxy',
    '^amd-module$': path.join(__dirname, '.config/amd-module.cjs'),
    '^react-inlinesvg$': path.join(__dirname, '.config/jest/mocks/react-inlinesvg.tsx'),
  },
  transform: {
    '^.+\\.(t|j)sx?$|^.+\\.mjs$': [
      '@swc/jest',
      {
        jsc: {
          parser: { syntax: 'typescript', tsx: true },
          transform: { react: { runtime: 'automatic' } },
          target: 'es2022',
        },
      },
    ],
  },
  // @grafana/* ship CommonJS builds; only ESM-only dependencies need transforming.
  transformIgnorePatterns: [
    'node_modules/(?!(d3|d3-[a-z-]+|ol|react-colorful|nanoid|marked|internmap|robust-predicates|uuid|@react-hookz|react-calendar|get-user-locale|memoize|mimic-function|@wojtekmaj|@ver0)/)',
  ],
  testTimeout: 60000,
};
