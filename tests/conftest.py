"Tests never touch the network: weights come from tiny models built in code or shipped with the package."
import os
os.environ['HF_HUB_OFFLINE'] = '1'
os.environ['TRANSFORMERS_OFFLINE'] = '1'
os.environ.setdefault('MPLBACKEND', 'Agg')
