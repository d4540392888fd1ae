export const dynamic = "force-dynamic";

export function GET() {
  return new Response(`next ok ${process.env.NODE_ENV}\n`, { headers: { "content-type": "text/plain" } });
}
