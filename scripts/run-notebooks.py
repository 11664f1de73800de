"""Execute every notebook in notebooks/ with the tslab kernel, in place (outputs are kept), and
fail on any cell error, printing the cell's source and its error text (nbconvert hides tslab's).
usage: JUPYTER_PATH=notebooks/.jupyter/share/jupyter /usr/bin/python3 scripts/run-notebooks.py [NAME.ipynb ...]
"""
import glob, os, sys
import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

paths = sys.argv[1:] or sorted(glob.glob(os.path.join('notebooks', '*.ipynb')))
failed = 0
for path in paths:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=900, kernel_name='tslab', resources={'metadata': {'path': os.path.dirname(path)}})
    try:
        client.execute()
        print(f'{path}: ok ({len(nb.cells)} cells)', flush=True)
    except CellExecutionError as e:
        failed += 1
        print(f'{path}: FAILED', flush=True)
        for cell in nb.cells:
            for out in cell.get('outputs', []):
                if out.get('output_type') == 'error' or (out.get('name') == 'stderr'):
                    print('--- cell:\n' + ''.join(cell.get('source', ''))[:800])
                    print('--- error:\n' + (''.join(out.get('traceback', [])) or out.get('text', '') or str(out))[:2000])
        print(str(e)[:2000])
    nbformat.write(nb, path)
print(f'notebooks: {len(paths) - failed} of {len(paths)} ran without error')
sys.exit(1 if failed else 0)
