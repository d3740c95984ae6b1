/**
 * Webpack config laid out like @grafana/create-plugin's `.config/webpack`:
 * SWC compiles TS/TSX (the plugin's and the workspace packages' source),
 * Grafana's shared modules stay external, and each plugin (the app and the
 * nested panel) is one AMD `module.js` that Grafana loads through SystemJS.
 */
const path = require('path');
const CopyWebpackPlugin = require('copy-webpack-plugin');
const TerserPlugin = require('terser-webpack-plugin');
const { externals } = require('./externals.cjs');

const ROOT = path.resolve(__dirname, '..');
const SRC = path.join(ROOT, 'src');
const DIST = path.join(ROOT, 'dist');
const PLUGIN_ID = require(path.join(SRC, 'plugin.json')).id;

const VERSION = require(path.join(ROOT, 'package.json')).version;
const REPO = path.resolve(ROOT, '..');

/**
 * Source map paths inside the plugin's own namespace (`webpack://<id>/<path from the
 * repository root>`): no `../` that points outside the plugin folder, no absolute paths.
 */
function sourceName(info) {
  const p = info.absoluteResourcePath;
  const rel = path.isAbsolute(p) ? path.relative(REPO, p).split(path.sep).join('/') : p.replace(/^(\.\.?\/)+/, '');
  return `webpack://${PLUGIN_ID}/${rel}`;
}

/** Fills plugin.json's %VERSION% and %TODAY% as create-plugin's ReplaceInFileWebpackPlugin does. */
function stampPluginJson(content) {
  const today = new Date().toISOString().slice(0, 10);
  return content.toString().replace(/%VERSION%/g, VERSION).replace(/%TODAY%/g, today);
}

/** Every nested plugin: a folder under src/ holding a plugin.json and a module.ts(x). */
const NESTED = ['panels/forensic-timeline'];

module.exports = (env = {}) => {
  const production = Boolean(env.production);
  return {
    mode: production ? 'production' : 'development',
    target: 'web',
    context: SRC,
    devtool: 'source-map',
    entry: {
      module: './module.tsx',
      ...Object.fromEntries(NESTED.map((dir) => [`${dir}/module`, `./${dir}/module.ts`])),
    },
    externals,
    output: {
      path: DIST,
      filename: '[name].js',
      chunkFilename: '[name].[contenthash:8].js',
      clean: true,
      library: { type: 'amd' },
      // Overridden at run time from the AMD module's uri (src/publicPath.ts).
      publicPath: `public/plugins/${PLUGIN_ID}/`,
      uniqueName: PLUGIN_ID,
      devtoolModuleFilenameTemplate: sourceName,
      devtoolFallbackModuleFilenameTemplate: (info) => `${sourceName(info)}?${info.hash}`,
    },
    resolve: {
      extensions: ['.ts', '.tsx', '.js', '.jsx', '.mjs'],
      // Workspace packages export TypeScript source; resolve them to their real path so the SWC rule applies.
      symlinks: true,
    },
    module: {
      rules: [
        {
          test: /\.[tj]sx?$/,
          exclude: /node_modules/,
          use: {
            loader: 'swc-loader',
            options: {
              jsc: {
                baseUrl: SRC,
                target: 'es2022',
                loose: false,
                parser: { syntax: 'typescript', tsx: true, decorators: false, dynamicImport: true },
                transform: { react: { runtime: 'automatic' } },
              },
            },
          },
        },
        { test: /\.css$/, use: ['style-loader', 'css-loader'] },
        { test: /\.(png|jpe?g|gif|svg)$/, type: 'asset/resource', generator: { filename: 'img/[name][ext]' } },
      ],
    },
    optimization: {
      minimize: production,
      minimizer: [new TerserPlugin({ extractComments: false })],
    },
    performance: { hints: false },
    plugins: [
      new CopyWebpackPlugin({
        patterns: [
          { from: 'plugin.json', to: '.', transform: stampPluginJson },
          { from: 'img/**/*', to: '.', noErrorOnMissing: true },
          ...NESTED.map((dir) => ({ from: `${dir}/plugin.json`, to: `${dir}/`, transform: stampPluginJson })),
          ...NESTED.map((dir) => ({ from: 'img/logo.svg', to: `${dir}/img/logo.svg` })),
          { from: '../README.md', to: '.' },
          { from: '../CHANGELOG.md', to: '.' },
          { from: '../LICENSE', to: '.' },
        ],
      }),
    ],
  };
};
