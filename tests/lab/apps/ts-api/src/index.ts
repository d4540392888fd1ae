import express from "express";
import { z } from "zod";

const Query = z.object({ a: z.coerce.number(), b: z.coerce.number() });

const app = express();

app.get("/sum", (req, res) => {
  const parsed = Query.safeParse(req.query);
  if (!parsed.success) {
    res.status(400).json({ error: "a and b must be numbers" });
    return;
  }
  res.json({ sum: parsed.data.a + parsed.data.b });
});

app.get("/", (_req, res) => {
  res.type("text/plain").send("ts-api ready\n");
});

const port = Number(process.env.PORT ?? 8080);
app.listen(port, () => console.log(`ts-api on ${port}`));
