/** @module The registry of vendors: a third vendor is one folder under `vendors/` and one line here. */
import type { Source } from "../ledger/types";
import { alfredAdapter } from "./alfred/index";
import { extendAdapter } from "./extend/index";
import type { VendorAdapter } from "./index";

export const VENDORS: Readonly<Partial<Record<Source, VendorAdapter>>> = {
  extend: extendAdapter,
  alfred: alfredAdapter,
};
