/** `import chat from "page:chat"`: a page built by web/esbuild-pages.mjs at bundle time. */
declare module "page:*" {
  const page: import("../lib/http/routes/web.ts").Page;
  export default page;
}
