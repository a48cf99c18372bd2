import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["tests/**/*.test.ts"],
    // End-to-end suites build and start the real serverless-offline stack.
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // The handlers' one-line JSON request logs are asserted where they matter, not printed.
    onConsoleLog: (log) => !log.startsWith('{"level"'),
    env: {
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    },
  },
});
