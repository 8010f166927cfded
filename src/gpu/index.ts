export * from "./native";
export * from "./mla-gpu";
