// The Serverless Framework loads plugins with require(), which reads no TypeScript: tsx compiles
// the plugin, and the parsers of lib/ it shares with the functions, on the way.
const { require: tsxRequire } = require("tsx/cjs/api");

module.exports = tsxRequire("./plugin.ts", __filename).default;
