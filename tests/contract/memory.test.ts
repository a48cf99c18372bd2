import { memoryStores } from "../../lib/memory/stores.ts";
import { storeContract } from "./contract.ts";

storeContract("in memory", async () => ({ stores: memoryStores(), close: async () => {} }));
