const services = ["api", "worker", "scheduler"];

export default function Home() {
  return (
    <main>
      <h1>Status board</h1>
      <ul>
        {services.map((s) => (
          <li key={s}>{s}: up</li>
        ))}
      </ul>
    </main>
  );
}
