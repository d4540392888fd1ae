import { useState } from "react";

const ITEMS = [
  { id: 1, name: "cable", count: 12 },
  { id: 2, name: "switch", count: 3 },
  { id: 3, name: "rack", count: 1 },
];

export default function App() {
  const [filter, setFilter] = useState("");
  const shown = ITEMS.filter((i) => i.name.includes(filter));
  return (
    <main>
      <h1>Inventory</h1>
      <input placeholder="filter" value={filter} onChange={(e) => setFilter(e.target.value)} />
      <ul>
        {shown.map((i) => (
          <li key={i.id}>
            {i.name}: {i.count}
          </li>
        ))}
      </ul>
    </main>
  );
}
